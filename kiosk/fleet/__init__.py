"""The kiosk fleet (issue #20): the updater device (A/B root slots) and the update agent."""
