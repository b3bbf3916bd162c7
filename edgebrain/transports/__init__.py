"""The doors: terminal, MQTT text, Hermes, Wyoming and the web console; each turns what arrives into a Request."""
