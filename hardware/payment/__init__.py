"""Stand-ins for the payment devices: a code-payment provider (HTTP) and a nexo-style
payment terminal (TCP). Both behave like the real thing, failures included, and can be
told how to behave next through a control channel the real devices do not have."""
