"""Alerts: rules evaluated on the classified stream; notifiers deliver them to people."""
