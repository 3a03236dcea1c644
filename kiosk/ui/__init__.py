"""The resident kiosk app (Kivy): screens, controller, and the ports to its devices
(`ports.KioskDevices`, assembled by `adapters.make_devices`)."""
