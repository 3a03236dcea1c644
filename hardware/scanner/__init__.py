"""Stand-in for the kiosk's 2D barcode scanner (kiosk/scanner)."""
