"""coprod-kg: the evidence of Slay & Stephens (2013) on co-production in mental health as linked data."""

__version__ = "0.2.0"
