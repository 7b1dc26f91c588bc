set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '../../producers_bench_producers_ratio_producers.svg'
set title 'producers_ratio: ratio to all vs producers'
set xlabel 'producers (log scale)'
set grid
set key outside bottom center horizontal
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set yrange [0:1.2189999999999999]
set ylabel 'ratio to all'
plot 'producers_bench_producers_ratio_producers.0.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'ratio to all', \
     1 with lines dt 2 lc rgb 'gray' title 'baseline (ratio 1)'
