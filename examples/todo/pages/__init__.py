"""The pages app: the about page and the /healthz endpoint."""
