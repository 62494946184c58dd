#!/usr/bin/perl
# A simulator in Perl behind simbi's process bridge (docs/bridge.md, protocol version 2), to show
# that any language that reads and writes bytes will do: theta = (mu, sigma), x = 4 draws of
# N(mu, sigma^2). Perl's rand() is seeded per row from (seed, row), so rows do not depend on
# batching; Box-Muller turns its uniforms into normals.
use strict;
use warnings;

binmode STDIN;
binmode STDOUT;
$| = 1;
my ($d, $k) = (2, 4);
my $names = '{"parameters": ["mu", "sigma"]}';
print "SIMBIWK1", pack("V4", 2, $d, $k, length $names), $names;

sub take { my $n = shift; my $got = read(STDIN, my $buf, $n); exit 0 unless defined $got && $got == $n; return $buf; }

while (1) {
    my ($type) = unpack("V", take(4));
    exit 0 if $type == 2;
    # sequence, seed, first row, rows: four u64 as (low, high) pairs of u32
    my ($seq_lo, $seq_hi, $seed_lo, $seed_hi, $first_lo, $first_hi, $n_lo, $n_hi) = unpack("V8", take(32));
    my $n = $n_lo + $n_hi * 2**32;
    my @theta = unpack("d<*", take(8 * $n * $d));
    my (@x, @valid);
    for my $i (0 .. $n - 1) {
        srand(($seed_lo ^ ($first_lo + $i) * 2654435761) % 4294967296);
        my ($mu, $sigma) = @theta[$d * $i, $d * $i + 1];
        for (1 .. $k) {
            my ($u1, $u2) = (1 - rand(), rand());
            push @x, $mu + $sigma * sqrt(-2 * log($u1)) * cos(6.283185307179586 * $u2);
        }
        push @valid, 1;
    }
    my $payload = pack("d<*", @x) . pack("C*", @valid);
    # The answer: status 0, the request's sequence number, the payload's length, the payload.
    print pack("V", 0), pack("V2", $seq_lo, $seq_hi), pack("V2", length($payload), 0), $payload;
}
