import asyncio

from services.seeder.server import main

asyncio.run(main())
