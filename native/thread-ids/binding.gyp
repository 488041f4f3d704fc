{
  "targets": [
    {
      "target_name": "thread_ids",
      "sources": ["thread-ids.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
