/// How the processes write their logs (`LOG_FORMAT`): one JSON object per line, or plain text.
public enum LogFormat: String, Sendable { case json, text }
