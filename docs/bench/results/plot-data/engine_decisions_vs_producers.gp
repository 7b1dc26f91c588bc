set terminal svg size 760,440 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '../../engine_decisions_vs_producers.svg'
set title 'Engine decisions per CPU second vs tracked producers'
set xlabel 'producers (log scale)'
set grid
set key outside bottom center horizontal
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set yrange [0:*]
set y2tics
set format y2 '%.2f'
set y2label 'ratio to 1k producers (same line)'
set ytics nomirror
set link y2 via y*0.10161764189026337 inverse y/0.10161764189026337
set ylabel 'M decisions per CPU second'
plot 'engine_decisions_vs_producers.0.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 title 'M decisions per CPU second'
