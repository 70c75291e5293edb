from qa.cli import app

app()
