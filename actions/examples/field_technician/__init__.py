"""The paper's field technicians: equipment photos classified on the tablet, offline."""
