select cron.schedule({name}, {schedule}, {command})
