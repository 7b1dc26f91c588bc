set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '../../engine_decisions_vs_producers.svg'
set title 'Engine decisions per CPU second vs tracked producers, ratio to 1k producers'
set xlabel 'producers (log scale)'
set grid
set key outside bottom center horizontal
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set yrange [0:1.15]
set ylabel 'ratio to 1k producers (same process)'
plot 'engine_decisions_vs_producers.0.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'uniform, Process()', \
     'engine_decisions_vs_producers.1.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'uniform, ProcessBatch()', \
     'engine_decisions_vs_producers.2.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'uniform, Prefetch + Process()', \
     'engine_decisions_vs_producers.3.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'Zipf-like, Process()', \
     'engine_decisions_vs_producers.4.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'Zipf-like, ProcessBatch()', \
     'engine_decisions_vs_producers.5.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'Zipf-like, Prefetch + Process()', \
     1 with lines dt 2 lc rgb 'gray' title 'baseline (ratio 1)', \
     0.5 with lines dt 3 lw 2 lc rgb 'red' title 'target ≥ 0.50 at 1M producers'
