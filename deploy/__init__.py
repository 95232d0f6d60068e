"""Running the app as several replicas behind HAProxy: see deploy/README.md."""
