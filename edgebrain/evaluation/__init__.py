"""`edgebrain bench`: the development set, hand-written and generated homes."""
