"""How the flows are served locally and deployed to work pools."""
