"""Speech: Vosk, the microphone and WAV files, the wake phrase, push-to-talk."""
