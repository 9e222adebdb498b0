"""Reach without tracking anyone: beacons counted per site, channel, event and hour, and the funnel."""
