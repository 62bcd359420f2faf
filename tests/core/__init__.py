"""Tests of the core package: the domain, with no Azure and no clock."""
