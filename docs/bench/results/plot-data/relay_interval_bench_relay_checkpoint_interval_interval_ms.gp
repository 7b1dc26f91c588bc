set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '../../relay_interval_bench_relay_checkpoint_interval_interval_ms.svg'
set title 'relay_checkpoint_interval: ratio to pipe vs interval_ms'
set xlabel 'interval_ms (log scale)'
set grid
set key outside bottom center horizontal
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set yrange [0:1.15]
set y2tics
set y2label 'records re-read after a crash'
set y2range [0:486182.4]
set ytics nomirror
set ylabel 'ratio to pipe'
plot 'relay_interval_bench_relay_checkpoint_interval_interval_ms.0.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'ratio to pipe', \
     'relay_interval_bench_relay_checkpoint_interval_interval_ms.1.dat' using 1:2 axes x1y2 with linespoints lw 2 pt 7 title 'reread_p50', \
     'relay_interval_bench_relay_checkpoint_interval_interval_ms.2.dat' using 1:2 axes x1y2 with linespoints lw 2 pt 7 title 'reread_p99', \
     'relay_interval_bench_relay_checkpoint_interval_interval_ms.3.dat' using 1:2 axes x1y2 with linespoints lw 2 pt 7 title 'crash_measured', \
     1 with lines dt 2 lc rgb 'gray' title 'baseline (ratio 1)'
