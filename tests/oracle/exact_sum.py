#!/usr/bin/env python3
"""Oracle for tests/exact_sums.rs: the correctly rounded sum of floats.

Reads lines of `float.hex()` values (one case per line, values separated by spaces) on
stdin and prints, per case, the sum as `float.hex()` computed two independent ways that
must agree: exact rational arithmetic (`fractions.Fraction`, then one rounding by
`float()`) and Shewchuk's algorithm (`math.fsum`). A line `nan`/`inf` is printed as is.
"""
import math
import sys
from fractions import Fraction

for line in sys.stdin:
    values = [float.fromhex(v) for v in line.split()]
    exact = float(sum((Fraction(v) for v in values), Fraction(0)))
    fsum = math.fsum(values)
    if exact != fsum:
        sys.exit(f"oracle disagrees with itself: {exact!r} vs {fsum!r}")
    print(exact.hex())
