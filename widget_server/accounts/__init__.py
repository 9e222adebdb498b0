"""Console accounts and the audit log: who may operate the relay, and what they did."""
