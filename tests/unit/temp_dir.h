// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// A fresh directory under the system's temp dir for one test (a state
// directory, files beside it), removed with its contents by the destructor.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace exactly::unit_test {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "exactly-unit-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Sub(const std::string& name) const { return path + "/" + name; }
};

}  // namespace exactly::unit_test
