"""confsql: programmable-voice conferences behind SQL (PEP 249 module)."""
