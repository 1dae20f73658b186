# gateway-glue/proftpd
