"""Ward-office smart counter: kiosk, back-office queue server and their devices."""

__version__ = "0.1.0"
