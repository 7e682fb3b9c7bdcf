"""Ledger: response commitments (舆情回应台账) tracked through to fulfilment and disclosure."""
