"""``plugin.sdk.shared``: the parts of N.E.K.O's shared SDK layer that plugins import directly."""
