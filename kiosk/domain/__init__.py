"""The domain core: procedures, forms, fees, tickets, the resident session.

Pure logic: no Kivy, no network, no files, no clocks read implicitly. Everything that
touches the outside world lives in the sibling packages and passes values in.
"""
