"""Tests of the controller stores: one contract suite that every backend runs."""
