// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// Recorded-log reader and writer: the kcat -J layout, the byte escape
// convention (exact round trip of any bytes), streaming with bounded
// lines, and error positions.
#include "exactly/recorded_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace exactly {
namespace {

using namespace std::string_literals;

std::string Line(const RecordView& r, std::span<const HeaderView> extra = {}) {
  std::string s;
  AppendRecordLine(s, r, extra);
  return s;
}

std::string JsonString(std::string_view bytes) {
  std::string s;
  AppendJsonString(s, bytes);
  return s;
}

OwnedRecord Parse(std::string_view line) {
  auto r = ParseRecordLine(line);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " for " << line;
  return r.ok() ? *r : OwnedRecord();
}

std::string ParseError(std::string_view line) {
  auto r = ParseRecordLine(line, "f.jsonl", 7);
  EXPECT_FALSE(r.ok()) << "accepted: " << line;
  return r.ok() ? std::string() : r.status().ToString();
}

std::vector<OwnedRecord> ReadAll(RecordedLogReader& reader, std::vector<std::string>* errors = nullptr) {
  std::vector<OwnedRecord> out;
  for (;;) {
    RecordView v;
    auto r = reader.Next(&v);
    if (!r.ok()) {
      if (errors == nullptr) {
        ADD_FAILURE() << r.status().ToString();
        return out;
      }
      errors->push_back(r.status().ToString());
      if (r.status().code() == Code::kIoError) return out;
      continue;
    }
    if (!*r) return out;
    out.push_back(OwnedRecord::FromView(v));
  }
}

OwnedRecord Sample() {
  OwnedRecord r;
  r.topic = "orders";
  r.partition = Partition(3);
  r.offset = Offset(42);
  r.timestamp = TimestampMs(1700000000123);
  r.key = "k";
  r.value = "v";
  r.headers = {{"eo.producer", "p1"}, {"eo.epoch", "0"}, {"eo.seq", "7"}, {"nul", std::nullopt}};
  return r;
}

// --- writing ---------------------------------------------------------------

TEST(RecordedLogWrite, LayoutMatchesKcatFieldOrder) {
  EXPECT_EQ(Line(Sample().view()),
            R"({"topic":"orders","partition":3,"offset":42,"ts":1700000000123,)"
            R"("headers":["eo.producer","p1","eo.epoch","0","eo.seq","7","nul",null],"key":"k","payload":"v"})"
            "\n");
}

TEST(RecordedLogWrite, NoHeadersFieldWhenThereAreNone) {
  OwnedRecord r = Sample();
  r.headers.clear();
  r.key.reset();
  r.value.reset();
  EXPECT_EQ(Line(r.view()), R"({"topic":"orders","partition":3,"offset":42,"ts":1700000000123,"key":null,"payload":null})"
                            "\n");
}

TEST(RecordedLogWrite, ExtraHeadersFollowTheRecordsOwn) {
  OwnedRecord r = Sample();
  r.headers = {{"a", "1"}};
  const HeaderView extra[] = {{"why", "corrupt"}};
  EXPECT_NE(Line(r.view(), extra).find(R"("headers":["a","1","why","corrupt"])"), std::string::npos);
}

TEST(RecordedLogWrite, EscapesLikeKcat) {
  // What kcat 1.7.1 (yajl) prints for these bytes, checked against its
  // real output (tests/replay/data/kcat-1.7.1-sample.jsonl).
  EXPECT_EQ(JsonString("a\n\tb\r\b\f/\x7f"), R"("a\n\tb\r\b\f/)"
                                              "\x7f\"");
  EXPECT_EQ(JsonString("\x1f\x1b"s + '\0' + "z"), R"("\u001F\u001B\u0000z")");
  EXPECT_EQ(JsonString("\x01\"\\"), R"("\u0001\"\\")");
  EXPECT_EQ(JsonString("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonString(""), "\"\"");
}

TEST(RecordedLogWrite, InvalidUtf8BytesBecomeLoneLowSurrogates) {
  EXPECT_EQ(JsonString("\xff\xfe"), R"("\uDCFF\uDCFE")");
  EXPECT_EQ(JsonString("\x80"), R"("\uDC80")");
  EXPECT_EQ(JsonString("\xed\xa0\x80"), R"("\uDCED\uDCA0\uDC80")");  // an encoded surrogate
  EXPECT_EQ(JsonString("\xc0\xaf"), R"("\uDCC0\uDCAF")");            // overlong '/'
  EXPECT_EQ(JsonString("\xf4\x90\x80\x80"), R"("\uDCF4\uDC90\uDC80\uDC80")");  // above U+10FFFF
  EXPECT_EQ(JsonString("a\xe2\x82"), R"("a\uDCE2\uDC82")");          // truncated sequence
  EXPECT_EQ(JsonString("\xe2\x82\xac\xe2"), "\"\xe2\x82\xac\\uDCE2\"");
}

// --- parsing ---------------------------------------------------------------

TEST(RecordedLogParse, ReadsWhatItWrites) {
  const OwnedRecord r = Sample();
  EXPECT_EQ(Parse(Line(r.view())), r);
}

TEST(RecordedLogParse, RoundTripsArbitraryBytesExactly) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 3000; ++i) {
    auto bytes = [&](bool allow_null) -> std::optional<std::string> {
      if (allow_null && rng() % 8 == 0) return std::nullopt;
      std::string s(rng() % 40, '\0');
      const int flavour = static_cast<int>(rng() % 3);
      for (char& c : s) {
        if (flavour == 0) {
          c = static_cast<char>(rng());  // anything
        } else if (flavour == 1) {
          c = static_cast<char>(0x20 + rng() % 95);  // printable ASCII
        } else {
          // Pieces of UTF-8 sequences, valid and broken, and the escapes' own characters.
          static const char kPieces[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80\\\"u0DC/\n";
          c = kPieces[rng() % (sizeof kPieces - 1)];
        }
      }
      return s;
    };
    OwnedRecord r;
    r.topic = *bytes(false);
    r.partition = Partition(static_cast<std::int32_t>(rng() % 1000));
    r.offset = Offset(static_cast<std::int64_t>(rng() >> 1));
    r.timestamp = TimestampMs(static_cast<std::int64_t>(rng()));
    r.key = bytes(true);
    r.value = bytes(true);
    const int headers = static_cast<int>(rng() % 4);
    for (int h = 0; h < headers; ++h) r.headers.push_back({*bytes(false), bytes(true)});
    const std::string line = Line(r.view());
    ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line per record";
    auto back = ParseRecordLine(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << line;
    ASSERT_EQ(*back, r) << line;
  }
}

TEST(RecordedLogParse, RealKcatOutput) {
  // Lines printed by kcat 1.7.1 -C -J against a librdkafka mock cluster
  // (tests/replay/data/kcat-1.7.1-sample.jsonl): tstype/broker are
  // ignored, headers absent when none, null vs empty key kept apart.
  OwnedRecord a = Parse(
      R"({"topic":"t","partition":0,"offset":0,"tstype":"create","ts":1795263299112,"broker":1,)"
      R"("headers":["eo.producer","p1","h2","","h3",null],"key":"k1","payload":"v1"})");
  EXPECT_EQ(a.topic, "t");
  EXPECT_EQ(a.timestamp, TimestampMs(1795263299112));
  ASSERT_EQ(a.headers.size(), 3u);
  EXPECT_EQ(a.headers[1], (OwnedHeader{"h2", ""}));
  EXPECT_EQ(a.headers[2], (OwnedHeader{"h3", std::nullopt}));
  EXPECT_EQ(a.key, "k1");

  OwnedRecord b = Parse(R"({"topic":"t","partition":1,"offset":1,"tstype":"create","ts":1,"broker":1,"key":"","payload":""})");
  EXPECT_EQ(b.key, "");
  EXPECT_EQ(b.value, "");
  EXPECT_TRUE(b.headers.empty());

  // kcat writes bytes that are not UTF-8 raw; they are taken verbatim.
  const std::string raw =
      "{\"topic\":\"t\",\"partition\":0,\"offset\":2,\"tstype\":\"create\",\"ts\":1,\"broker\":1,"
      "\"headers\":[\"bin\",\"a\\\"b\"],\"key\":null,"
      "\"payload\":\"\xff\xfe\\u0001\\\"\\\\\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}";
  OwnedRecord c = Parse(raw);
  EXPECT_EQ(c.value, "\xff\xfe\x01\"\\\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(c.headers[0], (OwnedHeader{"bin", "a\"b"}));
  EXPECT_EQ(c.key, std::nullopt);

  OwnedRecord d = Parse(R"({"topic":"t","partition":1,"offset":3,"ts":1,"key":null,"payload":"\u001F\u001B\u0000z"})");
  EXPECT_EQ(d.value, "\x1f\x1b"s + '\0' + "z");
}

TEST(RecordedLogParse, RewritesKcatLinesIntoTheSameLayout) {
  // For UTF-8 data our line is kcat's line without tstype and broker.
  const std::string kcat =
      R"({"topic":"t","partition":0,"offset":0,"tstype":"create","ts":1795263299112,"broker":1,)"
      R"("headers":["eo.producer","p1","h2","","h3",null],"key":"k1","payload":"v1"})";
  std::string expected = kcat;
  expected.erase(expected.find(R"("tstype":"create",)"), std::string_view(R"("tstype":"create",)").size());
  expected.erase(expected.find(R"("broker":1,)"), std::string_view(R"("broker":1,)").size());
  EXPECT_EQ(Line(Parse(kcat).view()), expected + "\n");
}

TEST(RecordedLogParse, Escapes) {
  auto payload = [](std::string_view json_string) {
    return Parse(R"({"topic":"t","partition":0,"offset":0,"ts":0,"key":null,"payload":)" + std::string(json_string) +
                 "}")
        .value;
  };
  EXPECT_EQ(payload(R"("\u00e9\u20AC")"), "\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(payload(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");  // a surrogate pair
  EXPECT_EQ(payload(R"("\/\b\f\n\r\t\"\\")"), "/\b\f\n\r\t\"\\");
  EXPECT_EQ(payload(R"("\uDC80\uDCff")"), "\x80\xff");  // lone low surrogates are bytes
  EXPECT_EQ(payload(R"("x\u0000y")"), "x"s + '\0' + "y");
}

TEST(RecordedLogParse, RejectsStringsThatAreNotBytes) {
  const std::string head = R"({"topic":"t","partition":0,"offset":0,"ts":0,"key":null,"payload":)";
  EXPECT_NE(ParseError(head + R"("\uD800"})").find("unpaired high surrogate"), std::string::npos);
  EXPECT_NE(ParseError(head + R"("\uD800\u0041"})").find("unpaired high surrogate"), std::string::npos);
  EXPECT_NE(ParseError(head + R"("\uDC00"})").find("unpaired low surrogate"), std::string::npos);
  EXPECT_NE(ParseError(head + R"("\x"})").find("bad escape"), std::string::npos);
  EXPECT_NE(ParseError(head + R"("\u12"})").find("escape"), std::string::npos);
  EXPECT_NE(ParseError(head + "\"a\tb\"}").find("unescaped"), std::string::npos);  // raw control characters
}

TEST(RecordedLogParse, OptionalFields) {
  OwnedRecord r = Parse(R"({"topic":"t","partition":0,"offset":5,"key":"k","payload":"v"})");
  EXPECT_EQ(r.timestamp, TimestampMs(-1)) << "kcat omits ts when the record has none";
  EXPECT_TRUE(r.headers.empty());
  EXPECT_TRUE(Parse(R"({"headers":[],"payload":"v","key":"k","offset":5,"partition":0,"topic":"t"})").headers.empty());
}

TEST(RecordedLogParse, ErrorsNameFileLineAndField) {
  const std::string ok_tail = R"("key":null,"payload":"v"})";
  EXPECT_EQ(ParseError(R"({"partition":0,"offset":0,)" + ok_tail),
            "Corruption: f.jsonl:7: missing field \"topic\"");
  EXPECT_EQ(ParseError(R"({"topic":"t","offset":0,)" + ok_tail), "Corruption: f.jsonl:7: missing field \"partition\"");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":0,"offset":0,"key":null})"),
            "Corruption: f.jsonl:7: missing field \"payload\"");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":"0","offset":0,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"partition\": must be an integer in 0..2147483647");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":-1,"offset":0,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"partition\": must be an integer in 0..2147483647");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":2147483648,"offset":0,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"partition\": must be an integer in 0..2147483647");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":0,"offset":1.5,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"offset\": must be a non-negative 64-bit integer");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":0,"offset":-3,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"offset\": must be a non-negative 64-bit integer");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":0,"offset":0,"ts":"x",)" + ok_tail),
            "Corruption: f.jsonl:7: field \"ts\": must be a 64-bit integer (milliseconds)");
  EXPECT_EQ(ParseError(R"({"topic":null,"partition":0,"offset":0,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"topic\": must be a string");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":0,"offset":0,"key":1,"payload":"v"})"),
            "Corruption: f.jsonl:7: field \"key\": must be a string or null");
  EXPECT_EQ(ParseError(R"({"topic":"t","partition":0,"offset":0,"key":null,"payload":{"a":1}})"),
            "Corruption: f.jsonl:7: field \"payload\": must be a string or null");
  EXPECT_EQ(ParseError(R"({"topic":"t","topic":"u","partition":0,"offset":0,)" + ok_tail),
            "Corruption: f.jsonl:7: field \"topic\": appears twice");
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,"offset":0,"headers":["a"],)" + ok_tail).find("odd number"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,"offset":0,"headers":[null,"a"],)" + ok_tail).find("null header name"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,"offset":0,"headers":["a",1],)" + ok_tail).find("header value"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,"offset":0,"headers":{"a":"b"},)" + ok_tail).find("must be an array"),
            std::string::npos);
  EXPECT_EQ(ParseError(R"(["t",0])"), "Corruption: f.jsonl:7: a record line must be a JSON object");
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,"offset":0,"key":null,"payload":"v"} {})").find("after the record"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,"offset":0,"key":null,"payload":"v")").find("invalid JSON"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"topic":"t","partition":0,,"offset":0,"key":null,"payload":"v"})").find("invalid JSON"),
            std::string::npos);
  EXPECT_NE(ParseError("garbage").find("f.jsonl:7: "), std::string::npos);
}

// --- streaming -----------------------------------------------------------------

std::string Lines(int n, int from_offset = 0) {
  std::string s;
  OwnedRecord r = Sample();
  for (int i = 0; i < n; ++i) {
    r.offset = Offset(from_offset + i);
    r.value = std::string(static_cast<std::size_t>(i % 50), 'x');
    AppendRecordLine(s, r.view());
  }
  return s;
}

TEST(RecordedLogReader, ReadsAStringWithBlankLinesAndCrlf) {
  std::string text = Lines(2) + "\n   \n" + Lines(1, 2);
  text.insert(text.size() - 1, "\r");  // CRLF ending on the last line
  auto reader = RecordedLogReader::FromString("s", text);
  const auto records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].offset, Offset(2));
  EXPECT_EQ(reader->line(), 5u);
  EXPECT_EQ(reader->bytes_consumed(), text.size());
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("exactly-recorded-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::filesystem::path dir_;
};

using RecordedLogFile = TempDir;

TEST_F(RecordedLogFile, StreamsAcrossSmallBlocks) {
  const std::string path = Write("a.jsonl", Lines(2000));
  RecordedLogOptions opt;
  opt.read_block_bytes = 4096;  // lines straddle blocks
  auto reader = RecordedLogReader::Open(path, opt);
  ASSERT_TRUE(reader.ok());
  const auto records = ReadAll(**reader);
  ASSERT_EQ(records.size(), 2000u);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(records[static_cast<std::size_t>(i)].offset, Offset(i));
    ASSERT_EQ(records[static_cast<std::size_t>(i)].value->size(), static_cast<std::size_t>(i % 50));
  }
  EXPECT_EQ((*reader)->size_bytes(), Slurp(path).size());
  EXPECT_EQ((*reader)->bytes_consumed(), Slurp(path).size());
}

TEST_F(RecordedLogFile, OverlongLineIsAnErrorAndSkippedWithoutBeingHeld) {
  std::string text = Lines(3);
  text += std::string(100000, 'g') + "\n";
  text += Lines(2, 3);
  const std::string path = Write("long.jsonl", text);
  RecordedLogOptions opt;
  opt.read_block_bytes = 4096;
  opt.max_line_bytes = 10000;
  auto reader = RecordedLogReader::Open(path, opt);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> errors;
  const auto records = ReadAll(**reader, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "ResourceExhausted: " + path + ":4: line longer than the limit of 10000 bytes (--max-line-bytes)");
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[3].offset, Offset(3));
  EXPECT_EQ((*reader)->line(), 6u);
}

TEST_F(RecordedLogFile, TenMegabyteGarbageLineIsAnErrorNotACrash) {
  std::mt19937 rng(7);
  std::string garbage(10u << 20, '\0');
  for (char& c : garbage) {
    c = static_cast<char>(rng());
    if (c == '\n') c = '{';
  }
  const std::string path = Write("garbage.jsonl", Lines(1) + garbage + "\n" + Lines(1, 1));
  auto reader = RecordedLogReader::Open(path);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> errors;
  const auto records = ReadAll(**reader, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(path + ":2: "), std::string::npos) << errors[0];
  EXPECT_EQ(records.size(), 2u);
}

TEST_F(RecordedLogFile, TruncatedLastLine) {
  std::string text = Lines(3);
  text.resize(text.size() - 10);
  const std::string path = Write("t.jsonl", text);
  auto reader = RecordedLogReader::Open(path);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> errors;
  EXPECT_EQ(ReadAll(**reader, &errors).size(), 2u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(path + ":3: truncated last line"), std::string::npos) << errors[0];
}

TEST_F(RecordedLogFile, CompleteLastLineWithoutNewlineIsAccepted) {
  std::string text = Lines(3);
  text.pop_back();
  const std::string path = Write("n.jsonl", text);
  auto reader = RecordedLogReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(ReadAll(**reader).size(), 3u);
}

TEST_F(RecordedLogFile, MissingFileIsAnIoError) {
  auto reader = RecordedLogReader::Open((dir_ / "absent.jsonl").string());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kIoError);
  EXPECT_NE(reader.status().ToString().find("absent.jsonl"), std::string::npos);
}

TEST_F(RecordedLogFile, WriterTruncatesOrAppendsAndCutsATornTail) {
  const std::string path = (dir_ / "out.jsonl").string();
  const OwnedRecord r = Sample();
  {
    auto w = RecordedLogWriter::Open(path, RecordedLogWriter::Mode::kTruncate);
    ASSERT_TRUE(w.ok());
    (*w)->Append(r.view());
    EXPECT_GT((*w)->buffered_bytes(), 0u);
    ASSERT_TRUE((*w)->Sync().ok());
    EXPECT_EQ((*w)->buffered_bytes(), 0u);
    (*w)->Append(r.view());  // never flushed: lost, as in a crash
  }
  EXPECT_EQ(Slurp(path), Line(r.view()));
  {
    std::ofstream(path, std::ios::app | std::ios::binary) << "{\"topic\":\"tor";  // a torn write
    auto w = RecordedLogWriter::Open(path, RecordedLogWriter::Mode::kAppend);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ((*w)->repaired_bytes(), 13u);
    (*w)->Append(r.view());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  EXPECT_EQ(Slurp(path), Line(r.view()) + Line(r.view()));
  {
    auto w = RecordedLogWriter::Open(path, RecordedLogWriter::Mode::kTruncate);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  EXPECT_EQ(Slurp(path), "");
}

TEST_F(RecordedLogFile, WriterFlushesBeyondItsThreshold) {
  const std::string path = (dir_ / "big.jsonl").string();
  auto w = RecordedLogWriter::Open(path, RecordedLogWriter::Mode::kTruncate, 1000);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 100; ++i) (*w)->Append(Sample().view());
  EXPECT_LT((*w)->buffered_bytes(), 1000u + 200u);
  EXPECT_GT(Slurp(path).size(), 0u);
  EXPECT_EQ((*w)->records_appended(), 100u);
}

// --- offset order --------------------------------------------------------------

TEST(OffsetOrderCheck, OffsetsMustIncreasePerPartition) {
  OffsetOrderCheck check;
  OwnedRecord r = Sample();
  auto at = [&](std::string topic, int p, int o) {
    r.topic = std::move(topic);
    r.partition = Partition(p);
    r.offset = Offset(o);
    return check.Check(r.view(), "f", 9);
  };
  EXPECT_TRUE(at("a", 0, 5).ok());
  EXPECT_TRUE(at("a", 1, 0).ok());
  EXPECT_TRUE(at("b", 0, 1).ok());
  EXPECT_TRUE(at("a", 0, 9).ok());  // gaps are fine (compaction, transactions)
  const Status back = at("a", 0, 9);
  EXPECT_EQ(back.code(), Code::kCorruption);
  EXPECT_NE(back.ToString().find("f:9: offset 9 of a[0] is not above the previous offset 9"), std::string::npos)
      << back.ToString();
  EXPECT_FALSE(at("a", 0, 3).ok());
  EXPECT_EQ(check.Last("a", Partition(0)), Offset(9));
  EXPECT_EQ(check.Last("b", Partition(0)), Offset(1));
  EXPECT_EQ(check.Last("c", Partition(0)), std::nullopt);
}

}  // namespace
}  // namespace exactly
