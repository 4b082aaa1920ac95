import asyncio

from services.concept.server import main

asyncio.run(main())
