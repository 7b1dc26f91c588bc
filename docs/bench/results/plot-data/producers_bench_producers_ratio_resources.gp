set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '../../producers_bench_producers_ratio_resources.svg'
set title 'producers_ratio: rss_ratio and restore_ratio vs producers'
set xlabel 'producers (log scale)'
set grid
set key outside bottom center horizontal
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set yrange [0:*]
set y2tics
set y2label 'restore_ratio'
set y2range [0:0.5038]
set ytics nomirror
set ylabel 'rss_ratio'
plot 'producers_bench_producers_ratio_resources.0.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'rss_ratio', \
     'producers_bench_producers_ratio_resources.1.dat' using 1:2 axes x1y2 with linespoints lw 2 pt 7 title 'restore_ratio'
