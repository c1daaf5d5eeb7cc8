"""techtransfer: 科技成果转移转化一站式服务平台."""
