"""yuqing: public-opinion monitoring, alerting and response ledger for a county government.

Data flows one way: collectors -> bus ``posts.raw`` -> processors -> store + bus
``posts.classified`` -> alerts -> notifications and ledger cases.
"""

__version__ = "0.1.0"
