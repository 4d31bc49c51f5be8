now() - {days}::interval
