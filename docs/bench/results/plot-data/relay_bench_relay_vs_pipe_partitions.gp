set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '../../relay_bench_relay_vs_pipe_partitions.svg'
set title 'relay_vs_pipe: ratio to pipe vs partitions'
set xlabel 'partitions'
set grid
set key outside bottom center horizontal
set offsets graph 0.03, graph 0.03, 0, 0
set yrange [0:1.15]
set ylabel 'ratio to pipe'
plot 'relay_bench_relay_vs_pipe_partitions.0.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'ratio to pipe', \
     1 with lines dt 2 lc rgb 'gray' title 'baseline (ratio 1)', \
     0.9 with lines dt 3 lw 2 lc rgb 'red' title 'target 0.900'
