"""pyro-api's own shipped test suite (``pyroapi.tests``) run on the polyro aliases."""
