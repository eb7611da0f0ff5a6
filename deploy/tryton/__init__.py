# Millwright integration module for Tryton 8.2.
# Classes are registered through the [register] section of tryton.cfg.
