#!/usr/bin/env python3
"""Write a DNABERT-layout vocab.txt: [PAD], [UNK], [CLS], [SEP], [MASK], then all 4^k
k-mers as itertools.product over "ATCG" yields them (DNABERT's order; A,T,C,G, not ACGT).

Usage: write_dnabert_vocab.py K OUT.txt
Standard library only. glance's built-in vocabulary is tested against the files this
writes (test-data/seq/dnabert_vocab_k3.txt, dnabert_vocab_k6.txt).
"""
import itertools
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: write_dnabert_vocab.py K OUT.txt")
    k = int(sys.argv[1])
    if not 1 <= k <= 12:
        sys.exit("k must be in 1..12")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    with open(sys.argv[2], "w", newline="\n") as out:
        for token in specials:
            out.write(token + "\n")
        for kmer in itertools.product("ATCG", repeat=k):
            out.write("".join(kmer) + "\n")


if __name__ == "__main__":
    main()
