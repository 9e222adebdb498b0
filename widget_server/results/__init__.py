"""Public results: what the province publishes, carried back to where people read.

``events`` takes in ``result.published`` / ``result.withdrawn`` and relay submissions
whose status becomes ``published``; ``listing`` answers the board, the API and the
feed; ``scoreboard`` counts who answers on time; ``georeport`` is the read-only
Open311 GeoReport v2 view; ``cache`` keeps public answers until a result changes.
Only public fields live in this layer: never a submitter, a contact or an attachment.
"""
