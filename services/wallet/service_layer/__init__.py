"""The wallet's use cases, one module each. A use case takes its command (or plain arguments) and a
`WalletContext`: the unit of work's ports, the business clock and who is asking. It decides with the domain's
rules and returns the ingress `Decision` or the messages to publish; it does no I/O but through the ports."""
