module scopegate.bench/go-peer

go 1.19
