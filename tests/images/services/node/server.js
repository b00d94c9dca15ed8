const http = require("http");

http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("hotfix-test node v1\n");
  })
  .listen(3000);
