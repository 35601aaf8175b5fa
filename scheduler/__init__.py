"""Background work: the delivery worker now, the APScheduler dispatch pass next."""
