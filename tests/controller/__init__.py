"""Tests of the controller (edgewhisk_controller)."""
