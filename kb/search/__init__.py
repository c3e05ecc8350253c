"""Search: normalize buyer text, index a bank, score phrases, cache the index, evaluate."""
