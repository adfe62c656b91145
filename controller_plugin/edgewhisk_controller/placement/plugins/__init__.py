"""One module per placement plugin; ``placement.registry`` maps their names to the classes."""
