# An app that crashes at import, like a settings error on App Service.
raise RuntimeError("boom: a required setting is missing")
