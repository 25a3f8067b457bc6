#!/usr/bin/env python3
"""Write a small synthetic parallel corpus (target = source words reversed) for
the demo and smoke tests: DIR/{train,valid}.{src,tgt}. Deterministic."""
import random
import sys

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
         "omicron pi rho sigma tau upsilon").split()


def write(path_prefix, n, rng):
    with open(path_prefix + ".src", "w") as src, open(path_prefix + ".tgt", "w") as tgt:
        for _ in range(n):
            words = [rng.choice(WORDS) for _ in range(rng.randint(3, 8))]
            src.write(" ".join(words) + "\n")
            tgt.write(" ".join(reversed(words)) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    rng = random.Random(1)
    write(out + "/train", 3000, rng)
    write(out + "/valid", 200, rng)


if __name__ == "__main__":
    main()
